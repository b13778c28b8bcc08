"""Models, loaders and visual helpers of the deep-learning demo studio. No Streamlit in here.

Importing the package puts Hugging Face libraries in offline mode unless `STUDIO_ONLINE=1`.
"""

from models.registry import apply_network_mode

apply_network_mode()
