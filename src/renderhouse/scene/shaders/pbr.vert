#version 330
// World-space vertices (transforms baked on the CPU) spun by the turntable's model matrix.
uniform mat4 u_model;       // rotation about the vertical axis through the framing centre
uniform mat4 u_view_proj;
// #defines HAS_UV1, HAS_COLOR, HAS_TANGENT as for pbr.frag: absent attributes are not read

in vec3 a_position;
in vec3 a_normal;
in vec4 a_tangent;
in vec2 a_uv0;
in vec2 a_uv1;
in vec4 a_color;

out vec3 v_position;
out vec3 v_normal;
out vec4 v_tangent;
out vec2 v_uv0;
out vec2 v_uv1;
out vec4 v_color;

void main() {
    vec4 world = u_model * vec4(a_position, 1.0);
    mat3 rot = mat3(u_model);   // a pure rotation: its own normal matrix
    v_position = world.xyz;
    v_normal = rot * a_normal;
#ifdef HAS_TANGENT
    v_tangent = vec4(rot * a_tangent.xyz, a_tangent.w);
#else
    v_tangent = vec4(1.0, 0.0, 0.0, 1.0);
#endif
    v_uv0 = a_uv0;
#ifdef HAS_UV1
    v_uv1 = a_uv1;
#else
    v_uv1 = a_uv0;
#endif
#ifdef HAS_COLOR
    v_color = a_color;
#else
    v_color = vec4(1.0);
#endif
    gl_Position = u_view_proj * world;
}
