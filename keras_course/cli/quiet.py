"""Keep TensorFlow's start-up lines off a command's stderr (shown with --verbose or KERAS_COURSE_VERBOSE=1).

TensorFlow 2.21's C++ runtime writes them to file descriptor 2 itself, ignoring TF_CPP_MIN_LOG_LEVEL: at import
("oneDNN custom operations are on", "Could not find cuda drivers", "All log messages before
absl::InitializeLog() ...") and at the first op ("failed call to cuInit" without a GPU driver). A newcomer reads
them as failures. So while a command runs, descriptor 2 goes through a pipe; a thread passes on every line but
those, as they come (a crash's last words included), and Python's own stderr goes the same way, in order.
"""

import os
import re
import threading

ENV_VERBOSE = "KERAS_COURSE_VERBOSE"
# absl-format info and warning lines (I1202 12:00:00.000 ...), the note before absl starts, the error lines that
# only say there is no GPU driver, and what LiteRT and the TFLite converter say on every call
STARTUP_LINE = re.compile(
    rb"^(?:[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ .*"
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU\."  # LiteRT, at each interpreter
    rb"|fully_quantize: \d+, inference_type: \d+, input_inference_type: \w+, output_inference_type: \w+"  # converter
    rb"|E\d{4} \d\d:\d\d:\d+\.\d+ +\d+ .*(?:cuInit|cuda_executor|cuda_diagnostics|Unable to register cu\w+ factory).*)\r?\n?$")


def verbose_requested(argv):
    return "--verbose" in argv or os.environ.get(ENV_VERBOSE, "") not in ("", "0")


class StartupLinesHidden:
    """Context manager: file descriptor 2 filtered of TensorFlow's start-up lines."""

    def __enter__(self):
        import sys

        sys.stderr.flush()
        self._saved = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self._thread = threading.Thread(target=self._forward, args=(read_end,), daemon=True)
        self._thread.start()
        return self

    def _forward(self, read_end):
        with os.fdopen(read_end, "rb") as lines:
            for line in lines:
                if not STARTUP_LINE.match(line):
                    os.write(self._saved, line)

    def __exit__(self, *exc):
        import sys

        sys.stderr.flush()
        os.dup2(self._saved, 2)  # the pipe's last writer closes: the thread drains it and ends
        self._thread.join(timeout=5)
        os.close(self._saved)
        return False
