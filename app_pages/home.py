"""Home: one card per technique, with a link."""

import streamlit as st

from models.registry import get_registry

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

registry = get_registry()
specs = registry.list()
if specs:
    ready = [spec for spec in specs if registry.is_loaded(spec.id)]
    st.divider()
    st.caption(
        f"Models ready: **{len(ready)} of {len(specs)}**"
        + (f" ({', '.join(spec.name for spec in ready)})" if ready else "")
        + ". The others load on first use; the Models & device page loads them all."
    )
