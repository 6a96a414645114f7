"""The cluster flux: clusters shed from the primary, circulate, arrest in sites and seed new foci.

Modules, in the order a step runs them (``coupling.ClusterFlux`` wires them):

* ``config``      the ``[cluster_flux]`` section and each organ's blood-flow routing
* ``laws/``       one file per law: cluster sizes, clearance, arrest, survival, shedding weight
* ``shedding``    cells leaving the primary as clusters (stochastic events or the expected flux)
* ``circulation`` the blood compartment (one ``step()`` for both engines)
* ``arrest``      where arrested clusters land, whether they survive, and what they deposit
* ``ledger``      where every shed cell went
* ``coupling``    shed → circulate → arrest → seed, after every accepted step
"""
