#version 330
// Soft contact shadow: darkness from the blurred top-down closeness map, premultiplied black.
uniform sampler2D u_shadow;
uniform float u_strength;
in vec2 v_uv;
out vec4 frag;
void main() {
    vec2 edge = min(v_uv, 1.0 - v_uv) * 8.0;   // fade out at the square's border
    float a = texture(u_shadow, v_uv).r * u_strength * clamp(min(edge.x, edge.y), 0.0, 1.0);
    frag = vec4(0.0, 0.0, 0.0, a);
}
