"""Practical question 3: CIFAR-10, a ResNet-50 teacher (transfer learning) distilled into a MobileNetV2 student.

`DEFAULTS` is the cifar10 recipe of `cnnlab train cifar10` and of the student (`cnnlab distill student|sweep`):
MobileNetV2 with the CIFAR stem, SGD with Nesterov momentum, cosine schedule, random crops (4 pixels of padding)
and flips on the device, no label smoothing (so that alpha = 1 is exactly the plain cross-entropy baseline).
`PROBE` and `FINETUNE` are the teacher's recipes (`cnnlab distill teacher --mode ...`); the command line overrides
any of them. The experiment itself (teacher, sweep, compare) is `cnnlab.distill`.
"""

DEFAULTS = dict(model="mobilenetv2-cifar", epochs=30, batch_size=128, lr=0.05, optimizer="sgd", momentum=0.9,
                nesterov=True, weight_decay=5e-4, schedule="cosine", warmup_epochs=1.0, label_smoothing=0.0,
                augment={"crop_pad": 4, "flip": True}, model_kwargs={"dropout": 0.2})

# Linear probe: a logistic regression on frozen features (computed once), so many cheap epochs.
PROBE = dict(model="resnet50", epochs=30, batch_size=256, lr=1e-3, optimizer="adamw", weight_decay=1e-4,
             schedule="cosine", warmup_epochs=0.0, augment={}, model_kwargs={})

# Fine-tuning: everything trains (the pretrained backbone at BACKBONE_LR_SCALE times the head's learning rate).
FINETUNE = dict(model="resnet50", epochs=10, batch_size=128, lr=0.01, optimizer="sgd", momentum=0.9, nesterov=True,
                weight_decay=5e-4, schedule="cosine", warmup_epochs=0.5, label_smoothing=0.0,
                augment={"crop_pad": 4, "flip": True}, model_kwargs={})
BACKBONE_LR_SCALE = 0.1
