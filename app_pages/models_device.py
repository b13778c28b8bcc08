"""Models & device: every registered model, where it comes from, and whether it is loaded."""

import contextlib

import pandas as pd
import streamlit as st

import ui
from models.core.device import environment_report
from models.core.errors import ModelLoadError, StudioError
from models.core.network import is_online
from models.core.registry import get_registry, resolve_source, source_size_bytes

ui.header("Models & device", "Every model the app can use, where its weights come from, and the hardware it runs on.")

registry = get_registry()
if registry.config_error:
    st.error(f"Your model config could not be read: {registry.config_error}", icon=":material/error:")

if st.button("Warm every model", icon=":material/local_fire_department:"):
    specs = registry.list()
    progress = st.progress(0.0)
    for done, spec in enumerate(specs, start=1):
        progress.progress(done / len(specs), text=f"Loading {spec.name}…")
        with contextlib.suppress(StudioError):  # a failure is recorded in the status table below
            ui.shared_model(spec.id)
    progress.empty()


def size_and_source(spec) -> tuple[str, str]:
    try:
        source = resolve_source(spec)
    except ModelLoadError as exc:
        return "", f"unavailable: {exc}"
    size = source_size_bytes(source)
    return ("" if size is None else f"{size / 1e6:,.1f} MB"), str(source)


rows = []
for spec in registry.list():
    status = registry.status(spec.id)
    size, source = size_and_source(spec)
    rows.append(
        {
            "model": spec.name,
            "task": spec.task,
            "source": source,
            "licence": spec.licence,
            "size": size,
            "status": status.state if status.state != "failed" else f"failed: {status.error}",
            "load time (s)": None if status.seconds is None else round(status.seconds, 2),
            "device": status.device or "",
        }
    )
columns = ["model", "task", "source", "licence", "size", "status", "load time (s)", "device"]
st.dataframe(pd.DataFrame(rows, columns=columns), hide_index=True, width="stretch")
st.caption(
    f"Online mode is **{'on' if is_online() else 'off'}**: "
    + (
        "hub ids may download."
        if is_online()
        else "only local and embedded models load (set STUDIO_ONLINE=1 to allow hub downloads)."
    )
)

st.subheader("Device")
st.table(pd.DataFrame(environment_report().items(), columns=["", "value"]).set_index(""))

with st.expander("Model cards", icon=":material/description:"):
    for spec in registry.list():
        st.markdown(f"#### {spec.name}\n*{spec.task} · licence: {spec.licence}*")
        st.markdown(spec.card_markdown())
        st.divider()
