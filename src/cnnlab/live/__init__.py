"""Live expression recognition: webcam, video or image (`cnnlab live`) and a browser page (`cnnlab serve`)."""

DEFAULT_MODEL = "fer2013-vgg"
