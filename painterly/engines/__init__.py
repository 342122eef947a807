"""Engines that run a folder job: `local` (this process, one photo after another) and `ray`
(Ray Data workers on this machine or a cluster). Both run `base.paint_item` on the same frozen
request, so their pictures are byte-identical; an engine never knows a method. `ray` is imported
only when it is asked for (it needs `painterly[ray]`)."""
