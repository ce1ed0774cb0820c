"""Migration rehearsal: two platforms at once, MirrorMaker 2 from one to the other under
recorded load and a fault, and a consumer group cut over (``kfchaos migrate``).

Modules: :mod:`.mirror` (the MirrorMaker 2 container and its configuration), :mod:`.cutover`
(moving a group, recorded), :mod:`.steps` (the ``migration`` scenario), :mod:`.rehearsal`
(both platforms' lifetime, the entry point). The checkers are
:mod:`kfchaos.checkers.mirror` and :mod:`kfchaos.checkers.cutover`.
"""
