"""The studies behind the ``brainnets`` command: each module is one subcommand (``add_arguments`` and ``run``).

A study made of several training runs (arms) runs each arm in its own process from a settings file
(:mod:`.arms`), so that arms train side by side and a killed study resumes arm by arm.
"""
