"""Faults and the nemesis that injects them (no fault is injected on import).

Layout: ``base`` (the Fault verbs and FaultSpec), one module per fault family declaring
its classes and their ``PACKAGES`` (``process``, ``replace``, ``disk``, ``partition``,
``degrade``, ``egress``, ``toxics``, ``load``), ``package`` (the FaultPackage record and target
forms), ``registry`` (every package by name: ``create``, ``package``, ``requirements``,
``colour``), ``schedule``/``validation`` (seeded schedules, schedule files and their
checks), ``targets`` (target roles to brokers) and ``nemesis`` (runs faults, alone or
as an overlapping schedule, recorded in the history).
"""
