#version 330
// Blended with MAX: each texel keeps how close the lowest geometry above it is to the ground.
in float v_closeness;
out vec4 frag;
void main() { frag = vec4(v_closeness); }
