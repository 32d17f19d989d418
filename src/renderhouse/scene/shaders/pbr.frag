#version 330
// glTF 2.0 metallic-roughness shading under image-based lighting.
// Material model: glTF 2.0 specification, Appendix B ("BRDF Implementation"): dielectric F0 0.04,
// metals tint F0 by base colour, diffuse = base·(1 − metallic). Environment lighting uses the
// split-sum approximation (Karis 2013) with the multiple-scattering energy term of
// Fdez-Agüera 2019 ("A Multiple-Scattering Microfacet Model for Real-Time Image-based
// Lighting"), diffuse from spherical-harmonic irradiance (Ramamoorthi & Hanrahan 2001).
// Output: ACES filmic tone curve as three.js applies it (Stephen Hill's RRT+ODT fit, input
// scaled by exposure / 0.6), then sRGB encoding, premultiplied by coverage alpha.
//
// Compiled per material variant: the backend prepends #defines for what the material and
// primitive actually use (HAS_BASE_MAP, HAS_MR_MAP, HAS_NORMAL_MAP, HAS_OCCLUSION_MAP,
// OCCLUSION_IN_MR, HAS_EMISSIVE_MAP, HAS_TANGENT, HAS_COLOR, UV_SELECT, ALPHA_MASK,
// ALPHA_BLEND, UNLIT, TRANSMISSION, IRIDESCENCE). llvmpipe runs both sides of a branch under
// a mask, so uniform flags cost the full shader on every pixel; unused code is compiled out.

uniform vec3 u_camera;

uniform vec4 u_base_color;
uniform float u_metallic;
uniform float u_roughness;
uniform vec3 u_emissive;
uniform float u_normal_scale;
uniform float u_occlusion_strength;
uniform float u_alpha_cutoff;
uniform float u_transmission;
uniform float u_dielectric_f0;    // ((ior − 1)/(ior + 1))², KHR_materials_ior; 0.04 at 1.5
uniform float u_iridescence;       // KHR_materials_iridescence factor (0 = off)
uniform float u_iridescence_ior;
uniform float u_iridescence_thickness;  // nm (the extension's maximum; no thickness texture)

// Texture slots: 0 base colour, 1 metallic-roughness, 2 normal, 3 occlusion, 4 emissive.
uniform sampler2D u_tex_base;
uniform sampler2D u_tex_mr;
uniform sampler2D u_tex_normal;
uniform sampler2D u_tex_occlusion;
uniform sampler2D u_tex_emissive;
// UV_SELECT: some slot reads TEXCOORD_1 or has a KHR_texture_transform
uniform int u_texcoord[5];
uniform mat3 u_uv_transform[5];    // KHR_texture_transform, identity when absent

uniform sampler2D u_env_specular;  // equirect mip chain, lod = roughness · u_env_max_lod
uniform float u_env_max_lod;
uniform vec3 u_sh[9];              // irradiance SH, already × Â_l
uniform sampler2D u_brdf_lut;      // x: NoV, y: roughness → (scale, bias)
uniform float u_env_intensity;
uniform float u_exposure;

in vec3 v_position;
in vec3 v_normal;
in vec4 v_tangent;
in vec2 v_uv0;
in vec2 v_uv1;
in vec4 v_color;

out vec4 frag;

const float PI = 3.14159265358979;

vec2 slot_uv(int i) {
#ifdef UV_SELECT
    vec2 uv = u_texcoord[i] == 1 ? v_uv1 : v_uv0;
    return (u_uv_transform[i] * vec3(uv, 1.0)).xy;
#else
    return v_uv0;
#endif
}

vec3 env_dir_uv_lookup(vec3 d, float lod) {
    vec2 uv = vec2(atan(d.x, d.z) / (2.0 * PI) + 0.5, acos(clamp(d.y, -1.0, 1.0)) / PI);
    return textureLod(u_env_specular, uv, lod).rgb;
}

vec3 sh_irradiance(vec3 n) {
    // Real SH basis up to l = 2 (Ramamoorthi & Hanrahan 2001, eq. 3).
    return u_sh[0] * 0.282095
         + u_sh[1] * 0.488603 * n.y + u_sh[2] * 0.488603 * n.z + u_sh[3] * 0.488603 * n.x
         + u_sh[4] * 1.092548 * n.x * n.y + u_sh[5] * 1.092548 * n.y * n.z
         + u_sh[6] * 0.315392 * (3.0 * n.z * n.z - 1.0)
         + u_sh[7] * 1.092548 * n.x * n.z + u_sh[8] * 0.546274 * (n.x * n.x - n.y * n.y);
}

// Thin-film iridescence after Belcour & Barla 2017, "A Practical Extension to Microfacet
// Theory for the Modeling of Varying Iridescence" (as KHR_materials_iridescence specifies):
// Airy summation of the first two interference orders, with the spectral integration done by
// the paper's Gaussian fit of the CIE XYZ sensitivities.
vec3 thin_film_sensitivity(float opd, vec3 shift) {
    float phase = 2.0 * PI * opd * 1.0e-9;
    const vec3 val = vec3(5.4856e-13, 4.4201e-13, 5.2481e-13);
    const vec3 pos = vec3(1.6810e+06, 1.7953e+06, 2.2084e+06);
    const vec3 var = vec3(4.3278e+09, 9.3046e+09, 6.6121e+09);
    vec3 xyz = val * sqrt(2.0 * PI * var) * cos(pos * phase + shift) * exp(-phase * phase * var);
    xyz.x += 9.7470e-14 * sqrt(2.0 * PI * 4.5282e+09) * cos(2.2399e+06 * phase + shift.x)
             * exp(-4.5282e+09 * phase * phase);
    xyz /= 1.0685e-7;
    const mat3 xyz_to_rgb = mat3(3.2404542, -0.9692660, 0.0556434,
                                 -1.5371385, 1.8760108, -0.2040259,
                                 -0.4985314, 0.0415560, 1.0572252);
    return xyz_to_rgb * xyz;
}

float schlick(float f0, float c) { return f0 + (1.0 - f0) * pow(1.0 - c, 5.0); }
vec3 schlick(vec3 f0, float c) { return f0 + (1.0 - f0) * pow(1.0 - c, 5.0); }

vec3 thin_film_fresnel(float film_ior, float cos1, float thickness, vec3 base_f0) {
    film_ior = mix(1.0, film_ior, smoothstep(0.0, 0.03, thickness));
    float sin2_sq = (1.0 / (film_ior * film_ior)) * (1.0 - cos1 * cos1);
    if (sin2_sq >= 1.0) return vec3(1.0);  // total internal reflection in the film
    float cos2 = sqrt(1.0 - sin2_sq);
    float r0 = pow((film_ior - 1.0) / (film_ior + 1.0), 2.0);
    float r12 = schlick(r0, cos1);
    float t121 = 1.0 - r12;
    float phi12 = film_ior < 1.0 ? PI : 0.0;
    vec3 sq = sqrt(clamp(base_f0, 0.0, 0.9999));
    vec3 base_ior = (1.0 + sq) / (1.0 - sq);
    vec3 r1 = pow((base_ior - film_ior) / (base_ior + film_ior), vec3(2.0));
    vec3 r23 = schlick(r1, cos2);
    vec3 phi23 = mix(vec3(0.0), vec3(PI), lessThan(base_ior, vec3(film_ior)));
    float opd = 2.0 * film_ior * thickness * cos2;
    vec3 phi = vec3(PI - phi12) + phi23;
    vec3 r123 = clamp(r12 * r23, 1e-5, 0.9999);
    vec3 rs = t121 * t121 * r23 / (1.0 - r123);
    vec3 result = r12 + rs;
    vec3 cm = rs - t121;
    for (int m = 1; m <= 2; ++m) {
        cm *= sqrt(r123);
        result += cm * 2.0 * thin_film_sensitivity(float(m) * opd, float(m) * phi);
    }
    return max(result, vec3(0.0));
}

vec3 aces_filmic(vec3 c) {
    const mat3 to_rrt = mat3(0.59719, 0.07600, 0.02840,
                             0.35458, 0.90834, 0.13383,
                             0.04823, 0.01566, 0.83777);
    const mat3 from_odt = mat3(1.60475, -0.10208, -0.00327,
                               -0.53108, 1.10813, -0.07276,
                               -0.07367, -0.00605, 1.07602);
    c = to_rrt * (c * u_exposure / 0.6);
    vec3 a = c * (c + 0.0245786) - 0.000090537;
    vec3 b = c * (0.983729 * c + 0.4329510) + 0.238081;
    return clamp(from_odt * (a / b), 0.0, 1.0);
}

vec3 srgb_encode(vec3 c) {
    return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, c));
}

void main() {
    vec4 base = u_base_color;
#ifdef HAS_COLOR
    base *= v_color;
#endif
#ifdef HAS_BASE_MAP
    base *= texture(u_tex_base, slot_uv(0));
#endif
#if defined(ALPHA_MASK) || defined(ALPHA_BLEND)
    float alpha = base.a;
#else
    float alpha = 1.0;
#endif
#ifdef ALPHA_MASK
    // Only masked materials get a program with discard: any discard in a shader turns off
    // llvmpipe's early depth test, which costs every other material its overdraw.
    if (alpha < u_alpha_cutoff) discard;
    alpha = 1.0;
#endif

    vec3 ng = normalize(v_normal);
    if (!gl_FrontFacing) ng = -ng;
    vec3 n = ng;
#if defined(HAS_NORMAL_MAP) && !defined(UNLIT)
    {
        vec2 uv = slot_uv(2);
        vec3 t, b;
#ifdef HAS_TANGENT
        {
            t = normalize(v_tangent.xyz - ng * dot(ng, v_tangent.xyz));
            b = cross(ng, t) * (v_tangent.w < 0.0 ? -1.0 : 1.0);
            if (!gl_FrontFacing) t = -t;  // ng is already flipped, so b flipped with it
        }
#else
        {
            // Tangent frame from screen-space derivatives: solve dp = T·du + B·dv. glTF's
            // V axis points down the image, so the bitangent of a normal map (+Y "up")
            // points towards decreasing v.
            vec3 dpx = dFdx(v_position), dpy = dFdy(v_position);
            vec2 dux = dFdx(uv), duy = dFdy(uv);
            float det = dux.x * duy.y - duy.x * dux.y;
            float inv = abs(det) > 1e-20 ? 1.0 / det : 0.0;
            vec3 tu = (dpx * duy.y - dpy * dux.y) * inv;
            vec3 tv = (dpy * dux.x - dpx * duy.x) * inv;
            t = normalize(tu - ng * dot(ng, tu) + vec3(1e-9));
            b = cross(ng, t);
            if (dot(b, tv) > 0.0) b = -b;
        }
#endif
        vec3 tn = texture(u_tex_normal, uv).xyz * 2.0 - 1.0;
        tn.xy *= u_normal_scale;
        n = normalize(mat3(t, b, ng) * tn);
    }
#endif

    vec3 color;
#ifdef UNLIT
    color = base.rgb;
#else
    {
        float metallic = u_metallic, roughness = u_roughness;
#if defined(HAS_MR_MAP) || defined(OCCLUSION_IN_MR)
        vec4 mr = texture(u_tex_mr, slot_uv(1));
#endif
#ifdef HAS_MR_MAP
        roughness *= mr.g;
        metallic *= mr.b;
#endif
        // Specular anti-aliasing as three.js does it: widen the lobe where the geometric
        // normal changes quickly across the pixel, and keep a minimum lobe width.
        vec3 dxy = max(abs(dFdx(ng)), abs(dFdy(ng)));
        roughness = min(max(roughness, 0.0525) + max(max(dxy.x, dxy.y), dxy.z), 1.0);

        vec3 v = normalize(u_camera - v_position);
        float nov = clamp(dot(n, v), 1e-4, 1.0);
        vec3 diffuse_color = base.rgb * (1.0 - metallic);
        vec3 f0 = mix(vec3(u_dielectric_f0), base.rgb, metallic);

#ifdef IRIDESCENCE
        {
            // Turn the film's Fresnel at this view angle back into an F0 for the split sum.
            vec3 f = thin_film_fresnel(u_iridescence_ior, nov, u_iridescence_thickness, f0);
            float x5 = pow(1.0 - nov, 5.0);
            vec3 film_f0 = clamp((f - x5) / max(1.0 - x5, 1e-4), 0.0, 1.0);
            f0 = mix(f0, film_f0, u_iridescence);
        }
#endif
        vec2 dfg = texture(u_brdf_lut, vec2(nov, roughness)).rg;
        vec3 fss_ess = f0 * dfg.x + dfg.y;
        float ess = dfg.x + dfg.y;
        float ems = 1.0 - ess;
        vec3 favg = f0 + (1.0 - f0) / 21.0;
        vec3 fms = fss_ess * favg / (1.0 - ems * favg);
        vec3 multi = fms * ems;

        vec3 r = reflect(-v, n);
        r = normalize(mix(r, n, roughness * roughness));  // dominant direction (Lagarde 2014)
        vec3 radiance = env_dir_uv_lookup(r, roughness * u_env_max_lod) * u_env_intensity;
        vec3 irradiance = max(sh_irradiance(n), 0.0) * u_env_intensity;

        float ao = 1.0;
#ifdef HAS_OCCLUSION_MAP
#ifdef OCCLUSION_IN_MR
        float occ = mr.r;
#else
        float occ = texture(u_tex_occlusion, slot_uv(3)).r;
#endif
        ao = 1.0 + u_occlusion_strength * (occ - 1.0);
#endif
        // Specular occlusion from ambient occlusion (Lagarde & de Rousiers 2014, "Moving
        // Frostbite to PBR", §4.10.2).
        float spec_ao = clamp(pow(nov + ao, exp2(-16.0 * roughness - 1.0)) - 1.0 + ao, 0.0, 1.0);

        vec3 kd = diffuse_color * (1.0 - max(max(fss_ess.r + multi.r, fss_ess.g + multi.g), fss_ess.b + multi.b));
#ifdef TRANSMISSION
        kd *= 1.0 - u_transmission;
#endif
        vec3 diffuse = (kd * irradiance / PI) * ao;
        vec3 specular = (fss_ess * radiance + multi * irradiance / PI) * spec_ao;
        color = diffuse + specular;
#ifdef TRANSMISSION
        {
            // Thin-dielectric fallback for KHR_materials_transmission: light that is not
            // reflected passes through, filtered by the base colour (the extension's
            // transmittance), so coverage drops by what gets through. Blending cannot tint
            // per channel, so the filter is reduced to its luminance.
            const vec3 luma = vec3(0.2126, 0.7152, 0.0722);
            float refl = clamp(dot(fss_ess + multi, luma), 0.0, 1.0);
            float through = u_transmission * (1.0 - refl) * clamp(dot(base.rgb, luma), 0.0, 1.0);
            alpha *= 1.0 - through;
            color /= max(alpha, 1e-3);
        }
#endif
    }
#endif
    vec3 emissive = u_emissive;
#ifdef HAS_EMISSIVE_MAP
    emissive *= texture(u_tex_emissive, slot_uv(4)).rgb;
#endif
    color += emissive;

    vec3 encoded = srgb_encode(aces_filmic(color));
    frag = vec4(encoded * alpha, alpha);
}
