#version 330
// The shadow square on the ground plane, spun with the model.
uniform mat4 u_model;
uniform mat4 u_view_proj;
uniform vec4 u_footprint;  // min x, min z, size x, size z
uniform float u_ground;
out vec2 v_uv;
void main() {
    vec2 corner = vec2(gl_VertexID == 1 || gl_VertexID == 2 || gl_VertexID == 4 ? 1.0 : 0.0,
                  gl_VertexID >= 2 && gl_VertexID != 3 ? 1.0 : 0.0);
    v_uv = corner;
    vec3 p = vec3(u_footprint.x + corner.x * u_footprint.z, u_ground, u_footprint.y + corner.y * u_footprint.w);
    gl_Position = u_view_proj * (u_model * vec4(p, 1.0));
}
