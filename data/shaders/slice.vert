/* slice.vert: one chunk's rectangle on the slice plane.
 * SPDX-License-Identifier: GPL-3.0-or-later */

in vec2 corner;              /* (0,0) .. (1,1) */

uniform mat4 mvp;            /* plane nm -> clip */
uniform vec4 rect;           /* u0, v0, u1, v1 in plane nm */
uniform mat3 plane_to_world; /* (u, v, n) -> (x, y, z) */
uniform float depth;         /* n of the slice, nm */
uniform vec3 res;            /* nm per voxel at the chunk's mip */
uniform ivec3 chunk_lo;      /* the chunk's first voxel */

/* Where in the chunk, in voxels: worked out per corner rather than per
 * pixel, and small numbers, so interpolation stays exact enough. */
out vec3 voxel;

void
main (void)
{
  vec2 p = mix (rect.xy, rect.zw, corner);

  voxel = plane_to_world * vec3 (p, depth) / res - vec3 (chunk_lo);
  gl_Position = mvp * vec4 (p, 0.0, 1.0);
}
