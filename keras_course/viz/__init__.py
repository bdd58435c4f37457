"""Plots, saved as PNG: learning curves, confusion matrices and the mistakes behind them, decision boundaries, 1-D fits,
feature embeddings, and what conv nets look at (filters, feature maps, CAM, Grad-CAM)."""

from keras_course.viz.embedding import embedding_plot
from keras_course.viz.plots import (confusion_matrix_plot, decision_boundary, grouped_bars, learning_curves, lr_find_plot,
                                   pareto_front, pareto_plot, read_history, regression_fit, runs_curves,
                                   tradeoff_plot)
from keras_course.viz.activations import (cam, feature_maps, feature_maps_plot, first_layer_filters, grad_cam,
                                         heatmap_plot)
from keras_course.viz.mistakes import confused_pairs, confused_pairs_plot, per_example_loss, top_losses, top_losses_plot
from keras_course.viz.images import augmentation_grid, image_grid
from keras_course.viz.optimization import loss_curves_plot, trajectories_plot
from keras_course.viz.signals import layer_statistics_plot

__all__ = ["cam", "confused_pairs", "confused_pairs_plot", "confusion_matrix_plot", "decision_boundary",
           "embedding_plot", "feature_maps", "feature_maps_plot", "first_layer_filters", "grad_cam", "grouped_bars",
           "augmentation_grid", "heatmap_plot", "image_grid", "layer_statistics_plot", "learning_curves", "loss_curves_plot",
           "lr_find_plot", "pareto_front", "pareto_plot", "per_example_loss", "read_history", "regression_fit",
           "runs_curves", "top_losses", "top_losses_plot", "tradeoff_plot", "trajectories_plot"]
