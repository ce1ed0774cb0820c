"""Migration rehearsal: two platforms at once, MirrorMaker 2 from one to the other under
recorded load and a fault, a consumer group cut over and the Flink reference job moved
through a savepoint (``kfchaos migrate``).

Modules: :mod:`.mirror` (the MirrorMaker 2 container and its configuration), :mod:`.cutover`
(moving a group, recorded), :mod:`.jobmove` (moving the Flink job, recorded), :mod:`.steps` (the ``migration`` scenario), :mod:`.rehearsal`
(both platforms' lifetime, the entry point). The checkers are
:mod:`kfchaos.checkers.mirror`, :mod:`kfchaos.checkers.cutover` and :mod:`kfchaos.checkers.job_move`.
"""
