"""An interruption at the start of a chosen epoch, as a kill would leave a run: for the resume tests."""

import keras


class Interrupted(Exception):
    pass


class StopAt(keras.callbacks.Callback):
    """Raises Interrupted when epoch `epoch` (0-based) begins, after the previous epoch's backup was written."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Interrupted(f"interrupted at epoch {epoch}")
