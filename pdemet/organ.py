"""An organ: its mesh (mm), the finite-element space, and one density field per clone (cells/mm³)."""

from __future__ import annotations

import numpy as np

from pdemet import resources
from pdemet.backend import MPI, fem, mesh as dmesh, ufl
from pdemet.errors import fail
from pdemet.meshes.msh import read_quietly
from pdemet.scenario.model import OrganConfig


def load_mesh(cfg: OrganConfig, comm):
    """The organ's mesh (gmsh file or built-in box), uniformly refined ``cfg.refine`` times."""
    m = _read_mesh(cfg, comm)
    # P1: one dof per vertex, ~8x per uniform refinement; P2 adds the edges (~7 per vertex)
    dofs = m.geometry.index_map().size_global * 8.0 ** cfg.refine * (8.0 if cfg.element_degree == 2 else 1.0)
    short = comm.bcast(resources.memory_shortfall(dofs, f"organ {cfg.name}", "lower refine or element_degree, or "
                                                  "use a coarser mesh") if comm.rank == 0 else None, root=0)
    if short is not None:  # decided on rank 0: every rank stops together
        fail(f"organs.{cfg.name}.refine", short)
    for _ in range(cfg.refine):
        m.topology.create_entities(1)
        m = dmesh.refine(m)[0]
    return m


def mesh_from_arrays(comm, points: np.ndarray | None, tets: np.ndarray | None):
    """A distributed mesh from rank 0's arrays (other ranks pass None): its original node numbers are the
    rows of ``points``, so node arrays gathered from it come back in that order on any number of ranks."""
    import basix.ufl

    element = basix.ufl.element("Lagrange", "tetrahedron", 1, shape=(3,))
    if comm.rank != 0:
        points, tets = np.zeros((0, 3)), np.zeros((0, 4), dtype=np.int64)
    return create_mesh(comm, np.asarray(tets, dtype=np.int64), element, np.asarray(points, dtype=float))


def create_mesh(comm, cells: np.ndarray, element, x: np.ndarray):
    """``dolfinx.mesh.create_mesh(comm, cells, element, x)``, the same C++ call with the same arguments, without
    its hidden cost: nanobind tries the mixed-topology overload (cells as a sequence of 1-D arrays) first and
    converts a 2-D cells array to it row by row, ~1 µs per cell, twice, before that overload fails on the element
    (half the time of making a 1.7·10⁶-cell mesh). A memoryview of the array cannot be split into rows
    (multi-dimensional sub-views are not implemented), so that overload is refused at once."""
    from dolfinx import cpp
    from dolfinx.fem import coordinate_element

    cmap = coordinate_element(element.basix_element)
    partitioner = dmesh.create_cell_partitioner(dmesh.GhostMode.none, 2) if comm.size > 1 else None
    cells = np.ascontiguousarray(cells, dtype=np.int64)
    x = np.ascontiguousarray(x, dtype=cmap.dtype)
    msh = cpp.mesh.create_mesh(comm, memoryview(cells), cmap._cpp_object, x, partitioner, 2)
    return dmesh.Mesh(msh, ufl.Mesh(element))


def _read_mesh(cfg: OrganConfig, comm):
    """Read the organ's gmsh mesh or build its box; check it is 3D and tetrahedral."""
    if cfg.box is not None:
        nx, ny, nz = cfg.cells
        return dmesh.create_box(comm, [[0.0, 0.0, 0.0], list(map(float, cfg.box))], [nx, ny, nz],
                                dmesh.CellType.tetrahedron)
    try:
        data = read_quietly(str(cfg.mesh), comm)
    except Exception as e:  # gmsh raises plain Exceptions for unreadable files
        fail(f"organs.{cfg.name}.mesh", f"cannot read {cfg.mesh} as a gmsh mesh ({str(e).splitlines()[0] if str(e) else type(e).__name__}); "
             f"convert it first with `pdemet mesh import {cfg.mesh} --organ {cfg.name}` (STL, VTK, other formats)")
    m = data.mesh
    if m.topology.dim != 3 or m.topology.cell_type != dmesh.CellType.tetrahedron:
        fail(f"organs.{cfg.name}.mesh", f"{cfg.mesh} is not a 3D tetrahedral mesh; mesh the volume with tetrahedra")
    return m


class Organ:
    """Mesh, scalar Lagrange space and clone densities (cells/mm³) of one organ.

    ``clones[i]`` is a ``dolfinx.fem.Function``; its dof values are the state the
    solvers advance. ``weights`` holds ∫φⱼ dx for the owned dofs, so that the number
    of cells of a clone is exactly ``weights · uᵢ`` (summed over ranks).
    """

    def __init__(self, cfg: OrganConfig, clone_names: list[str], comm=MPI.COMM_WORLD, mesh=None):
        """``mesh``: a mesh already made (a re-adapted one); default: the organ's base mesh."""
        self.cfg, self.name, self.comm = cfg, cfg.name, comm
        self.mesh = load_mesh(cfg, comm) if mesh is None else mesh
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
        """Volume centroid of the organ (mm), exact for the polyhedron (the same on any refinement of it)."""
        n_cells = self.mesh.topology.index_map(3).size_local
        p = self.mesh.geometry.x[self.mesh.geometry.dofmaps[0][:n_cells]]
        d = p[:, 1:] - p[:, :1]
        vol = np.abs(np.einsum("ij,ij->i", d[:, 0], np.cross(d[:, 1], d[:, 2]))) / 6.0
        local = np.append(vol @ p.mean(axis=1), vol.sum())
        total = self.comm.allreduce(local, MPI.SUM)
        return total[:3] / total[3]

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
                # coordinates rounded to 1e-12 mm: last-bit differences between partitions pick no sector
                dxy = np.round(d[:2], 12) + 0.0  # (+ 0.0 turns −0.0 into 0.0)
                repeats = init.sector_repeats or 1
                angle = np.mod(repeats * np.mod(np.arctan2(dxy[1], dxy[0]) / (2 * np.pi) + 1e-9, 1.0), 1.0)
                edges = np.concatenate([[0.0], np.cumsum(weights)])
                sector = np.clip(np.searchsorted(edges, angle, side="right") - 1, 0, k - 1)
                axis = np.hypot(dxy[0], dxy[1]) == 0.0  # on the axis every sector meets: mixed
                for i in range(k):
                    u[i, inside & (sector == i) & ~axis] += seg * init.density
                    u[i, inside & axis] += seg * init.density * weights[i]
        self.set_densities(u)
