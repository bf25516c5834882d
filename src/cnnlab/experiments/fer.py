"""Practical question 2: facial expression recognition on FER-2013.

The default recipe follows what the best single networks do (Khaireddin and Chen, 2021): a VGG-style network,
heavy augmentation (random crops, flips, rotation and scaling, erasing), SGD with Nesterov momentum, label
smoothing and a cosine schedule.
"""

DEFAULTS = dict(model="fer-vgg", epochs=40, batch_size=128, lr=0.02, optimizer="sgd", momentum=0.9, nesterov=True,
                weight_decay=5e-4, schedule="cosine", warmup_epochs=1.0, label_smoothing=0.1,
                augment={"crop_pad": 4, "flip": True, "degrees": 10.0, "scale": 0.1, "erase": 0.25},
                model_kwargs={"dropout": 0.4, "width": 32})
