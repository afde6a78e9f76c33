"""Many files in parallel: a local process pool or a Ray cluster (:mod:`.runner`), with an
index of finished outputs (:mod:`.index`)."""
