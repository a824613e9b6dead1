"""Response documents: reading the published layout (``blocks`` → ``recs``/``office`` →
``parse``, into ``model``), importing it in one transaction (``importer``) and rendering a
response back (``render``, templates in ``templates/``).

``blocks``, ``model``, ``recs``, ``office`` and ``parse`` are pure (no database); ``importer``
and ``render`` may import ``storage``, ``service`` and the core; never a face.
"""
