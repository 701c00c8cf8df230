"""Training-run physics beyond FLOPs: goodput (failures, checkpoints, restarts, spares) and
power transients of synchronous training (step swings, checkpoints, failures, mitigations).

Modules
-------
goodput
    Cluster MTBF, checkpoint write time, Young/Daly interval, goodput; calibrated on the
    Llama 3 405B failure record and validated on held-out published records.
transients
    Power over a training step, a checkpoint, a failure and a restart; site swing, ramp rate
    and frequency; battery and GPU power-smoothing mitigations sized against utility limits.
"""
