#version 330
// Resolve step: the scene was drawn premultiplied over transparent black. Optionally smooth
// edges (FXAA: Lottes 2009, "FXAA" white paper, the low-cost "console" variant: find the local
// edge direction from the luma of the 2×2 diagonal neighbours, blend along it, and fall back
// to the shorter blend when the wider one leaves the local luma range). Then put the result
// over the background, or un-premultiply it for a transparent PNG. With u_downsample = 2 the
// scene texture is twice the output size and each output pixel averages a 2×2 block.
// Compiled per variant (#defines, as llvmpipe runs both sides of a branch): TRANSPARENT
// (else over the background), OPAQUE_SCENE (solid background: the scene was cleared to it,
// so it is already composited), DOWNSAMPLE (2×2), FXAA.
uniform sampler2D u_scene;
uniform vec4 u_bg_top;       // sRGB-encoded colours, as the output stores them
uniform vec4 u_bg_bottom;
in vec2 v_uv;
out vec4 frag;

vec3 bg_at(vec2 uv) { return mix(u_bg_bottom.rgb, u_bg_top.rgb, uv.y); }

float luma(vec4 c, vec2 uv) {
    // edges are judged on what will be seen: over the background, or coverage if none
#if defined(TRANSPARENT)
    vec3 rgb = c.rgb + vec3(1.0 - c.a) * 0.5;
#elif defined(OPAQUE_SCENE)
    vec3 rgb = c.rgb;
#else
    vec3 rgb = c.rgb + bg_at(uv) * (1.0 - c.a);
#endif
    return dot(rgb, vec3(0.299, 0.587, 0.114));
}

vec4 fxaa(vec2 uv) {
    vec2 px = 1.0 / vec2(textureSize(u_scene, 0));
    vec4 m = texture(u_scene, uv);
    float lm = luma(m, uv);
    float lnw = luma(texture(u_scene, uv + vec2(-0.5, -0.5) * px), uv);
    float lne = luma(texture(u_scene, uv + vec2(0.5, -0.5) * px), uv);
    float lsw = luma(texture(u_scene, uv + vec2(-0.5, 0.5) * px), uv);
    float lse = luma(texture(u_scene, uv + vec2(0.5, 0.5) * px), uv);
    float lo = min(lm, min(min(lnw, lne), min(lsw, lse)));
    float hi = max(lm, max(max(lnw, lne), max(lsw, lse)));
    if (hi - lo < max(0.0312, hi * 0.125)) return m;
    vec2 dir = vec2(-((lnw + lne) - (lsw + lse)), (lnw + lsw) - (lne + lse));
    float reduce = max((lnw + lne + lsw + lse) * 0.03125, 1.0 / 128.0);
    dir = clamp(dir / (min(abs(dir.x), abs(dir.y)) + reduce), -8.0, 8.0) * px;
    vec4 a = 0.5 * (texture(u_scene, uv - dir / 6.0) + texture(u_scene, uv + dir / 6.0));
    vec4 b = 0.5 * a + 0.25 * (texture(u_scene, uv - dir * 0.5) + texture(u_scene, uv + dir * 0.5));
    float lb = luma(b, uv);
    return (lb < lo || lb > hi) ? a : b;
}

void main() {
    vec4 c;
#if defined(DOWNSAMPLE)
    ivec2 base = ivec2(gl_FragCoord.xy) * 2;
    c = 0.25 * (texelFetch(u_scene, base, 0) + texelFetch(u_scene, base + ivec2(1, 0), 0)
              + texelFetch(u_scene, base + ivec2(0, 1), 0) + texelFetch(u_scene, base + ivec2(1, 1), 0));
#elif defined(FXAA)
    c = fxaa(v_uv);
#else
    c = texelFetch(u_scene, ivec2(gl_FragCoord.xy), 0);
#endif
#if defined(TRANSPARENT)
    frag = c.a > 0.0 ? vec4(c.rgb / c.a, c.a) : vec4(0.0);
#elif defined(OPAQUE_SCENE)
    frag = vec4(c.rgb, 1.0);
#else
    frag = vec4(c.rgb + bg_at(v_uv) * (1.0 - c.a), 1.0);
#endif
}
