"""Measurements that chose constants in src/cnnlab: YuNet's width and score, the face crop, the tracker's
similarity, test-time augmentation, the live defaults end to end."""
