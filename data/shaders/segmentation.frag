/* segmentation.frag: objects in the colours of their root ids, the
 * hovered one outlined, the selected one highlighted.
 *
 * The colours come in the palette, worked out when the roots arrive, so a
 * pixel costs two lookups. With OUTLINE (the program used only for chunks
 * that hold the hovered or selected object), four more find its edges.
 * SPDX-License-Identifier: GPL-3.0-or-later */

in vec3 voxel;

uniform highp usampler3D labels;  /* palette index per voxel */
uniform highp usampler2D palette; /* (root lo, root hi, colour 0xBBGGRR, 0), 256 per row */
uniform ivec3 chunk_size;
uniform float opacity;
uniform float other_alpha;        /* objects neither hovered nor selected */
#ifdef OUTLINE
uniform ivec3 step_u;             /* one voxel along the plane's axes */
uniform ivec3 step_v;
uniform uvec2 hovered;
uniform uvec2 selected;
#endif

out vec4 frag;

uvec4
entry_at (ivec3 v)
{
  uint i = texelFetch (labels, clamp (v, ivec3 (0), chunk_size - 1), 0).r;

  return texelFetch (palette, ivec2 (int (i % 256u), int (i / 256u)), 0);
}

void
main (void)
{
  ivec3 v = ivec3 (floor (voxel));
  uvec4 entry = entry_at (v);
  uvec2 root = entry.xy;
  vec3 colour;
  float alpha = other_alpha;

  if (root == uvec2 (0u))
    discard;

  colour = vec3 (uvec3 (entry.z, entry.z >> 8u, entry.z >> 16u) & 0xffu) / 255.0;

#ifdef OUTLINE
  {
    bool is_hovered = hovered != uvec2 (0u) && root == hovered;
    bool is_selected = selected != uvec2 (0u) && root == selected;

    if (is_hovered || is_selected)
      {
        bool edge = entry_at (v + step_u).xy != root || entry_at (v - step_u).xy != root
                    || entry_at (v + step_v).xy != root || entry_at (v - step_v).xy != root;

        if (edge)
          {
            colour = is_selected ? vec3 (1.0, 1.0, 1.0) : mix (colour, vec3 (1.0), 0.7);
            alpha = 1.0;
          }
        else
          alpha = is_selected ? max (opacity, 0.7) : min (1.0, opacity + 0.2);
      }
  }
#endif

  frag = vec4 (colour * alpha, alpha);
}
