/* image.frag: the EM image, nearest voxel, as grey.
 * SPDX-License-Identifier: GPL-3.0-or-later */

in vec3 voxel;

uniform highp sampler3D voxels;
uniform ivec3 chunk_size;

out vec4 frag;

void
main (void)
{
  ivec3 v = clamp (ivec3 (floor (voxel)), ivec3 (0), chunk_size - 1);
  float g = texelFetch (voxels, v, 0).r;

  frag = vec4 (g, g, g, 1.0);
}
