"""Transfer learning: backbones with their preprocessing inside, freeze/unfreeze, fine_tune, audit and embeddings.

    >>> model = build_classifier("ResNet50", num_classes=2, weights="imagenet", input_shape=(160, 160, 3))
    >>> result = fine_tune(model, train, val, head_epochs=5, fine_tune_epochs=5)
    >>> print(audit(model, train))
"""

from keras_course.transfer.audit import AuditReport, audit, check_input
from keras_course.transfer.backbones import (KERAS_BACKBONES, Backbone, list_backbones, load_backbone, project_models,
                                             read_manifest)
from keras_course.transfer.classifier import backbone_of, build_classifier
from keras_course.transfer.embed import embed, features_model
from keras_course.transfer.fine_tune import FineTuneResult, fine_tune, fine_tune_phases
from keras_course.transfer.freezing import freeze, split_stages, stage_lr_multipliers, unfreeze
from keras_course.models.layers import PREPROCESSING_MODES, BackbonePreprocessing

__all__ = ["KERAS_BACKBONES", "PREPROCESSING_MODES", "audit", "AuditReport", "Backbone", "backbone_of",
           "BackbonePreprocessing", "build_classifier", "check_input", "embed", "features_model", "fine_tune",
           "fine_tune_phases", "FineTuneResult", "freeze", "list_backbones", "load_backbone", "project_models",
           "read_manifest", "split_stages", "stage_lr_multipliers", "unfreeze"]
