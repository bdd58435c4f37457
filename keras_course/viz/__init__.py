"""Plots, saved as PNG: learning curves, confusion matrices, decision boundaries and 1-D fits."""

from keras_course.viz.plots import confusion_matrix_plot, decision_boundary, learning_curves, read_history, regression_fit
