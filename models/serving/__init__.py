"""Serving the models from a Ray cluster instead of this process.

`client.py`: the app side (`RayBackend` finds the cluster's applications, `RemoteModel` stands in
for a pipeline object and runs its methods in a replica). `deploy.py`: one Ray Serve application per
model (run on the cluster by `make serve-cluster`).
"""
