"""An organ: its mesh (mm), the finite-element space, and one density field per clone."""

from __future__ import annotations

import numpy as np

from pdemet.backend import MPI, fem, gmshio, mesh as dmesh, ufl
from pdemet.config import OrganConfig, fail


def load_mesh(cfg: OrganConfig, comm):
    """The organ's mesh, uniformly refined ``cfg.refine`` times."""
    m = _read_mesh(cfg, comm)
    for _ in range(cfg.refine):
        m.topology.create_entities(1)
        m = dmesh.refine(m)[0]
    return m


def _read_mesh(cfg: OrganConfig, comm):
    """Read the organ's gmsh mesh or build its box; check it is 3D and tetrahedral."""
    if cfg.box is not None:
        nx, ny, nz = cfg.cells
        return dmesh.create_box(comm, [[0.0, 0.0, 0.0], list(map(float, cfg.box))], [nx, ny, nz],
                                dmesh.CellType.tetrahedron)
    try:
        data = _read_msh_quietly(str(cfg.mesh), comm)
    except Exception as e:  # gmsh raises plain Exceptions for unreadable files
        fail(f"organs.{cfg.name}.mesh", f"cannot read {cfg.mesh} as a gmsh mesh ({str(e).splitlines()[0] if str(e) else type(e).__name__})")
    m = data.mesh
    if m.topology.dim != 3 or m.topology.cell_type != dmesh.CellType.tetrahedron:
        fail(f"organs.{cfg.name}.mesh", f"{cfg.mesh} is not a 3D tetrahedral mesh; mesh the volume with tetrahedra")
    return m


def _read_msh_quietly(path: str, comm):
    """dolfinx.io.gmsh.read_from_msh without gmsh's console output: rank 0 reads, all ranks distribute."""
    import gmsh

    error = None
    if comm.rank == 0:
        gmsh.initialize(readConfigFiles=False)
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("pdemet")
        try:
            gmsh.merge(path)
            if not gmsh.model.getEntities(3):
                error = "it has no volume (3D) elements"
        except Exception as e:  # gmsh raises plain Exceptions
            error = str(e).splitlines()[0] if str(e) else type(e).__name__
    error = comm.bcast(error, root=0)  # every rank must know before the collective call
    try:
        if error is not None:
            raise ValueError(error)
        return gmshio.model_to_mesh(gmsh.model, comm, 0, gdim=3)
    finally:
        if comm.rank == 0:
            gmsh.finalize()


class Organ:
    """Mesh, scalar Lagrange space and clone densities (cells/mm³) of one organ.

    ``clones[i]`` is a ``dolfinx.fem.Function``; its dof values are the state the
    solvers advance. ``weights`` holds ∫φⱼ dx for the owned dofs, so that the number
    of cells of a clone is exactly ``weights · uᵢ`` (summed over ranks).
    """

    def __init__(self, cfg: OrganConfig, clone_names: list[str], comm=MPI.COMM_WORLD):
        self.cfg, self.name, self.comm = cfg, cfg.name, comm
        self.mesh = load_mesh(cfg, comm)
        self.degree = cfg.element_degree
        self.V = fem.functionspace(self.mesh, ("Lagrange", self.degree))
        self.clone_names = list(clone_names)
        self.clones = [fem.Function(self.V, name=n) for n in clone_names]
        self.capacity = float(cfg.params["carrying_capacity"])
        imap = self.V.dofmap.index_map
        self.n_owned = imap.size_local
        self.x = self.V.tabulate_dof_coordinates().T.copy()  # (3, n_local) in mm
        v = ufl.TestFunction(self.V)
        w = fem.petsc.assemble_vector(fem.form(v * ufl.dx))
        w.ghostUpdate(addv=fem.petsc.PETSc.InsertMode.ADD, mode=fem.petsc.PETSc.ScatterMode.REVERSE)
        self.weights = w.array_r[: self.n_owned].copy()
        w.ghostUpdate(addv=fem.petsc.PETSc.InsertMode.INSERT, mode=fem.petsc.PETSc.ScatterMode.FORWARD)
        with w.localForm() as loc:
            self.weights_local = loc.array_r.copy()  # owned and ghost dofs
        w.destroy()
        self.volume = comm.allreduce(float(self.weights.sum()), MPI.SUM)

    # -- state as arrays ---------------------------------------------------------------------
    @property
    def n_clones(self) -> int:
        return len(self.clones)

    def densities(self) -> np.ndarray:
        """(K, n_local) copy of the clone densities at the local dofs (owned, then ghosts)."""
        return np.stack([c.x.array for c in self.clones])

    def set_densities(self, u: np.ndarray) -> None:
        for c, ui in zip(self.clones, u):
            c.x.array[:] = ui

    def cells_per_clone(self) -> np.ndarray:
        """Number of cells of each clone in the organ (∫uᵢ dx), identical on every rank."""
        local = np.array([self.weights @ c.x.array[: self.n_owned] for c in self.clones])
        return self.comm.allreduce(local, MPI.SUM)

    def centroid(self) -> np.ndarray:
        """Volume centroid of the organ (mm)."""
        local = self.x[:, : self.n_owned] @ self.weights
        return self.comm.allreduce(local, MPI.SUM) / self.volume

    # -- initial condition --------------------------------------------------------------------
    def set_initial(self) -> None:
        init = self.cfg.initial
        k = self.n_clones
        weights = np.ones(k) if init.clones is None else np.asarray(init.clones, dtype=float)
        weights = weights / weights.sum()
        u = np.zeros((k, self.x.shape[1]))
        if init.shape != "none" and init.density > 0:
            center = self.centroid() if init.center is None else np.asarray(init.center)
            d = self.x - center[:, None]
            # Relative slack of 1e-9 so that nodes exactly on the edge are in, whatever the
            # last-bit differences of coordinates between partitions.
            if init.shape == "ball":
                inside = np.einsum("ij,ij->j", d, d) <= init.radius ** 2 * (1 + 1e-9)
            else:
                inside = np.all(np.abs(d) <= 0.5 * np.asarray(init.extent)[:, None] * (1 + 1e-9), axis=0)
            seg = init.segregation if init.segregation is not None else float(init.mixing == "sectors")
            u[:, inside] = (1.0 - seg) * init.density * weights[:, None]
            if seg > 0:  # sectors: clone i owns an angular sector around the center (in the x–y plane)
                angle = np.mod(np.arctan2(d[1], d[0]) / (2 * np.pi) + 1e-9, 1.0)
                edges = np.concatenate([[0.0], np.cumsum(weights)])
                sector = np.clip(np.searchsorted(edges, angle, side="right") - 1, 0, k - 1)
                for i in range(k):
                    u[i, inside & (sector == i)] += seg * init.density
        self.set_densities(u)


class FieldGatherer:
    """Collects an organ's P1 nodal values on rank 0, ordered by the mesh's original node numbers.

    The order (and so every output file) is the same whatever the number of MPI ranks.
    P2 fields are interpolated to P1 on the same mesh first.
    """

    def __init__(self, organ: Organ):
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
        used = np.unique(gdofs.ravel())
        self.local_nodes = used
        self.local_orig = orig[used]
        all_orig = comm.gather(self.local_orig, root=0)
        all_x = comm.gather(m.geometry.x[used], root=0)
        all_tets = comm.gather(orig[gdofs], root=0)
        if comm.rank == 0:
            o = np.concatenate(all_orig)
            uniq, inv = np.unique(o, return_inverse=True)
            self.n_points = uniq.size
            self.points = np.zeros((uniq.size, 3))
            self.points[inv] = np.concatenate(all_x)
            tets = np.searchsorted(uniq, np.concatenate(all_tets))
            # Canonical cell order (sorted vertex tuples) so files do not depend on the partition.
            key = np.sort(tets, axis=1)
            order = np.lexsort(key.T[::-1])
            self.tets = tets[order]
            self.uniq = uniq
            self._gather_pos = inv  # where each rank's nodes (in rank order) go in the original order

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
        if not hasattr(self, "_sorted"):
            order = np.argsort(self.local_orig)
            self._sorted = (self.local_orig[order], self.node_dof[self.local_nodes][order])
        orig_sorted, dofs_sorted = self._sorted
        wanted = self.uniq_global(nodes)
        pos = np.searchsorted(orig_sorted, wanted)
        pos = np.minimum(pos, len(orig_sorted) - 1)
        hit = orig_sorted[pos] == wanted
        dofs = dofs_sorted[pos[hit]]
        owned = dofs < self.organ.n_owned
        for i, clone in enumerate(self.organ.clones):
            clone.x.array[dofs[owned]] += deltas[hit][owned, i]
            clone.x.scatter_forward()

    def uniq_global(self, nodes: np.ndarray) -> np.ndarray:
        """Original node numbers of positions in rank 0's node arrays."""
        if not hasattr(self, "_uniq_all"):
            self._uniq_all = self.organ.comm.bcast(self.uniq if self.organ.comm.rank == 0 else None, root=0)
        return self._uniq_all[nodes]
