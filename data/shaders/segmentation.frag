/* segmentation.frag: objects in hashed colours by root id, the hovered
 * one outlined, the selected one highlighted.
 * SPDX-License-Identifier: GPL-3.0-or-later */

in vec3 world;

uniform highp usampler3D labels;  /* palette index per voxel */
uniform highp usampler2D palette; /* (sv lo, sv hi, root lo, root hi), 256 per row */
uniform vec3 res;
uniform ivec3 chunk_lo;
uniform ivec3 chunk_size;
uniform ivec3 step_u;             /* one voxel along the plane's axes */
uniform ivec3 step_v;
uniform uvec2 hovered;
uniform uvec2 selected;
uniform uint seed;
uniform float opacity;
uniform bool dim_others;

out vec4 frag;

uvec2
root_at (ivec3 v)
{
  uint i = texelFetch (labels, clamp (v, ivec3 (0), chunk_size - 1), 0).r;

  return texelFetch (palette, ivec2 (int (i % 256u), int (i / 256u)), 0).zw;
}

uint
hash (uint x)
{
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

vec3
hsv (float h, float s, float v)
{
  vec3 k = clamp (abs (fract (h + vec3 (0.0, 2.0 / 3.0, 1.0 / 3.0)) * 6.0 - 3.0) - 1.0, 0.0, 1.0);

  return v * mix (vec3 (1.0), k, s);
}

void
main (void)
{
  ivec3 v = ivec3 (floor (world / res)) - chunk_lo;
  uvec2 root = root_at (v);
  uint h;
  vec3 colour;
  float alpha = opacity;
  bool is_hovered, is_selected;

  if (root == uvec2 (0u))
    discard;

  h = hash (root.x ^ hash (root.y ^ hash (seed)));
  colour = hsv (float (h & 0xffffu) / 65536.0,
                0.55 + 0.45 * float ((h >> 16u) & 0xffu) / 255.0,
                0.80 + 0.20 * float (h >> 24u) / 255.0);

  is_hovered = hovered != uvec2 (0u) && root == hovered;
  is_selected = selected != uvec2 (0u) && root == selected;

  if (is_hovered || is_selected)
    {
      bool edge = root_at (v + step_u) != root || root_at (v - step_u) != root
                  || root_at (v + step_v) != root || root_at (v - step_v) != root;

      if (edge)
        {
          colour = is_selected ? vec3 (1.0, 1.0, 1.0) : mix (colour, vec3 (1.0), 0.7);
          alpha = 1.0;
        }
      else
        alpha = is_selected ? max (opacity, 0.7) : min (1.0, opacity + 0.2);
    }
  else if (dim_others && selected != uvec2 (0u))
    alpha *= 0.15;

  frag = vec4 (colour * alpha, alpha);
}
