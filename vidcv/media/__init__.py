"""Media I/O on FFmpeg through PyAV (``av``): decoding files and streams, encoding videos, MP4 structure.

``decode`` reads a file or a network stream into BGR frames with exact timestamps, frame-accurate seeking
and open/read timeouts; ``encode`` writes H.264 (NVENC where an NVIDIA GPU is, libx264 otherwise), HEVC,
AV1, MPEG-4 Part 2 or MJPEG, as fragmented MP4 while recording; ``mp4`` finds the complete fragments of a
recording that was cut short. Cameras and image files stay on OpenCV.
"""
