"""Runs and studies over one training engine: run directories, reports, comparison, search, LR finder, studies."""

from keras_course.experiments.config import RunConfig
from keras_course.experiments.engine import build_for, compile_options, load_splits, phases_for, pipelines
from keras_course.experiments.run_dir import RunDirectoryError, load_run
from keras_course.experiments.report import evaluate_model
from keras_course.experiments.run import evaluate, export_run, train
from keras_course.experiments.compare import compare, parse_models
from keras_course.experiments.compress_run import CompressSettings, compress_run
from keras_course.experiments.lr_find import LRFindResult, lr_find, lr_find_run
from keras_course.experiments.plots import PLOTS, plot_run
from keras_course.experiments.pretrained import save_pretrained
from keras_course.experiments.quick import FitResult, fit
from keras_course.experiments.search import SearchFailedError, SearchResult, search
from keras_course.experiments.transfer_experiment import markdown_table as transfer_study_table, transfer_study

__all__ = ["CompressSettings", "FitResult", "LRFindResult", "PLOTS", "RunConfig", "RunDirectoryError", "SearchFailedError", "SearchResult",
           "build_for", "compare", "compress_run", "compile_options", "evaluate", "evaluate_model", "export_run", "fit", "load_run",
           "load_splits", "lr_find", "lr_find_run", "parse_models", "phases_for", "pipelines", "plot_run",
           "save_pretrained", "search", "train", "transfer_study", "transfer_study_table"]
