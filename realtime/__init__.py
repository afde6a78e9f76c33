"""The engine and its applications (everything that runs an exported model).

Layers, lowest first: ``runtime`` (session, providers) -> ``io`` -> ``render``, ``pipeline``
-> ``evaluate`` -> ``apps`` (beside ``export``) -> ``bench`` -> ``cli``. ``saliency_cam``
itself (``realtime/api``) is the public API.
"""
