"""Image classification: the classification page's model side.

Inside: `efficientnet.py` (EfficientNet-Lite0/1/2 in plain PyTorch, loading the packaged ImageNet
weights), `classifier.py` (`ImageClassifier`: preprocessing, top-k, Grad-CAM, feature maps; any
transformers image classifier through `as_image_classifier`; the registry entries), `transfer.py` (a
new linear head trained on a few photos per class), `plots.py` (heatmap overlays and filter grids).
Public face: `classifier.as_image_classifier`, `classifier.ImageClassifier`, `transfer.train_head`.
"""
