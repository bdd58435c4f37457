"""Runs and studies built from data, models and training: run directories, pretrained models, the transfer study."""

from keras_course.experiments.config import RunConfig
from keras_course.experiments.compare import compare, parse_models
from keras_course.experiments.run import (RunDirectoryError, build_model, evaluate, evaluate_model, export_run, load_run,
                                         train)
from keras_course.experiments.lr_find import LRFindResult, lr_find, lr_find_run
from keras_course.experiments.plots import PLOTS, plot_run
from keras_course.experiments.pretrained import save_pretrained
from keras_course.experiments.quick import FitResult, fit
from keras_course.experiments.search import SearchFailedError, SearchResult, search
from keras_course.experiments.transfer_experiment import markdown_table as transfer_study_table, transfer_study
