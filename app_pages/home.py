"""Home: one card per technique, with a link."""

import streamlit as st

from models.core import startup

st.title("Deep-learning demo studio")
st.caption("The core techniques of modern NLP and computer vision, working live, one page each.")

for section, entries in st.session_state.get("technique_pages", {}).items():
    if not entries:
        continue
    st.subheader(section)
    columns = st.columns(min(len(entries), 3))
    for index, (technique, blurb) in enumerate(entries):
        with columns[index % len(columns)].container(border=True):
            st.markdown(f"**{technique.title}**")
            st.write(blurb)
            st.page_link(technique, label=f"Open {technique.title}", icon=technique.icon)

# Never waits for torch: until the background preparation has built the registry, say so instead.
registry = startup.registry_if_ready()
specs = registry.list() if registry else []
if registry is None:
    st.divider()
    st.caption("Loading the models' libraries in the background; the technique pages open once they are ready.")
elif specs:
    ready = [spec for spec in specs if registry.is_loaded(spec.id)]
    st.divider()
    st.caption(
        f"Models ready: **{len(ready)} of {len(specs)}**"
        + (f" ({', '.join(spec.name for spec in ready)})" if ready else "")
        + ". The others load on first use; the Models & device page loads them all."
    )
