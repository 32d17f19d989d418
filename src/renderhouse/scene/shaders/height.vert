#version 330
// Top-down orthographic view of the model for the ground shadow: xz → clip space.
uniform vec4 u_footprint;  // min x, min z, 1/size x, 1/size z of the shadow square
uniform vec2 u_height;     // ground y, 1/model height
in vec3 a_position;
out float v_closeness;
void main() {
    vec2 p = (a_position.xz - u_footprint.xy) * u_footprint.zw;
    v_closeness = 1.0 - clamp((a_position.y - u_height.x) * u_height.y, 0.0, 1.0);
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
