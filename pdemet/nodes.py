"""Rank-independent node data: an organ's P1 nodal values gathered on rank 0 in the mesh's original node
order (so every output file is the same on any number of MPI ranks), and the rank-0 node arrays the
cluster flux and the census work on."""

from __future__ import annotations

import functools

import numpy as np
from scipy.spatial import cKDTree

from pdemet.backend import fem
from pdemet.meshes.geometry import edge_numbering


class FieldGatherer:
    """Collects an organ's P1 nodal values on rank 0, ordered by the mesh's original node numbers.

    The order (and so every output file) is the same whatever the number of MPI ranks.
    P2 fields are interpolated to P1 on the same mesh first.
    """

    def __init__(self, organ: Organ, mesh_arrays: tuple | None = None):
        """``mesh_arrays``: for a mesh made by :func:`~pdemet.organ.mesh_from_arrays`, the (points, tets) it was
        made from on rank 0 (on the other ranks any value but None; None for a mesh read or built otherwise). They are
        the node arrays in original order already (points are the original node numbers, tets in canonical
        order), so only the map of each rank's nodes is gathered, not the mesh."""
        self.organ = organ
        m = organ.mesh
        comm = organ.comm
        n_cells = m.topology.index_map(3).size_local
        gdofs = m.geometry.dofmaps[0][:n_cells]
        orig = np.asarray(m.geometry.input_global_indices, dtype=np.int64)
        if organ.degree == 1:
            self.W, self.w = organ.V, None
        else:
            self.W = fem.functionspace(m, ("Lagrange", 1))
            self.w = fem.Function(self.W)
        # geometry node -> dof of the P1 space (vertex k of a cell is dof k of that cell for P1)
        wdofs = self.W.dofmap.list[:n_cells]
        n_geom = m.geometry.x.shape[0]
        self.node_dof = np.zeros(n_geom, dtype=np.int64)
        self.node_dof[gdofs.ravel()] = wdofs.ravel()
        in_cell = np.zeros(n_geom, dtype=bool)  # the nodes of the local cells, ascending (np.unique without a sort)
        in_cell[gdofs.ravel()] = True
        used = np.flatnonzero(in_cell)
        self.local_nodes = used
        self.local_orig = orig[used]
        all_orig = comm.gather(self.local_orig, root=0)
        if mesh_arrays is None:
            all_x = comm.gather(m.geometry.x[used], root=0)
            all_tets = comm.gather(orig[gdofs], root=0)
        if comm.rank == 0:
            o = np.concatenate(all_orig)
            uniq, inv = np.unique(o, return_inverse=True)
            self.n_points = uniq.size
            self.uniq = uniq
            self._gather_pos = inv  # where each rank's nodes (in rank order) go in the original order
            if mesh_arrays is not None:
                self.points, self.tets = mesh_arrays
                if len(self.points) != uniq.size:
                    raise RuntimeError(f"organ {organ.name}: the mesh has {uniq.size} nodes, its arrays {len(self.points)}")
                return
            self.points = np.zeros((uniq.size, 3))
            self.points[inv] = np.concatenate(all_x)
            tets = np.searchsorted(uniq, np.concatenate(all_tets))
            # Canonical cell order (sorted vertex tuples) so files do not depend on the partition.
            key = np.sort(tets, axis=1)
            order = np.lexsort(key.T[::-1])
            self.tets = tets[order]

    def gather(self, fn) -> np.ndarray | None:
        """Values of a scalar Function at the mesh nodes, on rank 0 (None elsewhere)."""
        if self.w is not None:
            self.w.interpolate(fn)
            fn = self.w
        return self.gather_dofs(fn.x.array)

    def gather_dofs(self, values: np.ndarray) -> np.ndarray | None:
        """A P1 dof array (owned + ghosts) as a node array in original order on rank 0."""
        vals = values[self.node_dof[self.local_nodes]]
        all_vals = self.organ.comm.gather(vals, root=0)
        if self.organ.comm.rank != 0:
            return None
        out = np.zeros(self.n_points)
        out[self._gather_pos] = np.concatenate(all_vals)
        return out

    def set_from_nodes(self, fn, values: np.ndarray) -> None:
        """Set a P1 Function from a node array in original order (the same array on every rank)."""
        pos = np.searchsorted(self.uniq_global(np.arange(len(values))), self.local_orig)
        fn.x.array[self.node_dof[self.local_nodes]] = values[pos]
        fn.x.scatter_forward()

    def add_to_clones(self, nodes: np.ndarray, deltas: np.ndarray) -> None:
        """Add deltas (len(nodes), K) at nodes (positions in the original order) to the clone fields.

        Collective: rank 0's arguments are broadcast; every rank updates its owned dofs,
        then ghosts are refreshed.
        """
        comm = self.organ.comm
        nodes, deltas = comm.bcast((nodes, deltas) if comm.rank == 0 else None, root=0)
        if self.organ.degree != 1:
            raise RuntimeError("nodal updates need P1 elements")
        dofs, hit = self._local_dofs(nodes)
        owned = dofs < self.organ.n_owned
        for i, clone in enumerate(self.organ.clones):
            clone.x.array[dofs[owned]] += deltas[hit][owned, i]
            clone.x.scatter_forward()

    def set_at_nodes(self, nodes: np.ndarray, values: np.ndarray) -> None:
        """Set the clone fields to values (len(nodes), K) at nodes (positions in the original order).

        Collective: every rank passes the same arguments; owned dofs are set, then ghosts refreshed.
        """
        if self.organ.degree != 1:
            raise RuntimeError("nodal updates need P1 elements")
        dofs, hit = self._local_dofs(nodes)
        owned = dofs < self.organ.n_owned
        for i, clone in enumerate(self.organ.clones):
            clone.x.array[dofs[owned]] = values[hit][owned, i]
            clone.x.scatter_forward()

    def _local_dofs(self, nodes: np.ndarray):
        """Local dofs of the nodes this rank holds, and which of the nodes those are."""
        if not hasattr(self, "_sorted"):
            order = np.argsort(self.local_orig)
            self._sorted = (self.local_orig[order], self.node_dof[self.local_nodes][order])
        orig_sorted, dofs_sorted = self._sorted
        wanted = self.uniq_global(nodes)
        pos = np.minimum(np.searchsorted(orig_sorted, wanted), len(orig_sorted) - 1)
        hit = orig_sorted[pos] == wanted
        return dofs_sorted[pos[hit]], hit

    def uniq_global(self, nodes: np.ndarray) -> np.ndarray:
        """Original node numbers of positions in rank 0's node arrays."""
        if not hasattr(self, "_uniq_all"):
            self._uniq_all = self.organ.comm.bcast(self.uniq if self.organ.comm.rank == 0 else None, root=0)
        return self._uniq_all[nodes]


class OrganNodes:
    """Rank-0 node data of one organ: coordinates, ∫φⱼ (mm³), tetrahedra, edges, a k-d tree.

    On other ranks only ``weights`` is set (None): the flux and the census run on rank 0.
    """

    def __init__(self, organ, gatherer: FieldGatherer):
        self.weights = gatherer.gather_dofs(organ.weights_local)
        if organ.comm.rank != 0:
            return
        self.points, self.tets = gatherer.points, gatherer.tets

    @functools.cached_property
    def edges(self) -> np.ndarray:
        """(E, 2) unique edges in lexicographic order, made when first asked for (the census, front targets and
        the transport step need them)."""
        return self._edge_numbering[0]

    @functools.cached_property
    def cell_edges(self) -> np.ndarray:
        """(M, 6) int32: the row in ``edges`` of each cell's edges (0,1), (0,2), (0,3), (1,2), (1,3), (2,3)."""
        return self._edge_numbering[1]

    @functools.cached_property
    def _edge_numbering(self):
        return edge_numbering(self.tets)

    @functools.cached_property
    def tree(self) -> cKDTree:
        return cKDTree(self.points)
