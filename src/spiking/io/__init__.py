"""Files of a run: atomic writes, the run folder and manifest, the spike file, images, snapshots, connectivity."""
