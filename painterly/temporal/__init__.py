"""The temporal layer every method uses for video (a shared piece: it imports no method family).

    flow.py       optical flow between input frames (OpenCV DIS; Farneback to measure with)
    occlusion.py  forward-backward consistency and motion-boundary masks (Ruder et al.)
    warp.py       warping images and tensors by a flow
    state.py      a video's previous frame and output: the guide for the next frame
    blend.py      consistency for one-pass methods: pull towards the warped previous output where trusted
    loss.py       the short-term temporal loss for optimisation (Gatys)
    metrics.py    warping error (Lai et al. 2018), the stability score
    synthetic.py  clips with exactly known motion and occlusions (pan, zoom, moving object)
"""
