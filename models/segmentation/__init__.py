"""Segmentation: a label for every pixel, and every object on its own. The segmentation page's model side.

Inside: `segmenter.py` (semantic segmenters: MediaPipe's selfie model converted by `tflite_to_torch.py`,
any transformers segmenter, CAM + GrabCut object masks; `as_segmenter`), `unet.py` and `shapes.py` (a
U-Net trained live on generated shapes), `mask_rcnn.py` (Mask R-CNN in plain PyTorch),
`instances.py` (`InstanceSegmenter`: the staged Mask R-CNN pipeline or a transformers instance
segmenter), `instance_shapes.py` (its synthetic scenes), `instances_eval.py` (COCO AP),
`instances_plots.py` (the pictures of its stages).
"""
