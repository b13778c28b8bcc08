"""Home: one card per technique, with a link."""

import streamlit as st

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
