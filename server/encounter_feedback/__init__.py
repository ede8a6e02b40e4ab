"""Real-time encounter feedback for medical simulation centers.

Data flows one way through the subpackages (README, "How it works"):

    media -> speech -> analysis -> store -> pipeline -> web, research, training, stations -> bench -> cli

The modules at this level (events, taxonomy, scenarios, errors, resources, transcript) are the
shared vocabulary every layer may use; none of them imports a subpackage.
"""
