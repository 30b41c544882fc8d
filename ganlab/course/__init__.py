"""Course plumbing — everything that is not GAN code.

* :mod:`~ganlab.course.session`: what every notebook does after its parameters cell (``start``)
* :mod:`~ganlab.course.experiment`: one notebook run — train or resume or load, evaluate, record
* :mod:`~ganlab.course.records`: JSON run records (atomic, with versions, device, seed, commit)
* :mod:`~ganlab.course.tables`: notebook 17's comparison tables, built only from run records
* :mod:`~ganlab.course.pretrained`: shipped generators, load or train
* :mod:`~ganlab.course.stamping`: the notebook conventions as code (setup cell, badge, outputs)
* :mod:`~ganlab.course.runner`: ``make run-all`` (papermill over the syllabus)

Submodules are imported where they are used, so ``import ganlab.course`` stays cheap.
"""
