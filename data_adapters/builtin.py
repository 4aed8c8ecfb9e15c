"""The built-in datasets: names, what each needs, citations, and where its loader lives.

Loaders are named as ``"module:function"`` strings, so listing datasets imports
no adapter (and no torch); a loader's module is imported when it is first used.
"""

from __future__ import annotations

from neurosage.data_adapters.registry import register_images, register_neural

__all__ = ["register_builtins"]

_ADAPTERS = "neurosage.data_adapters"


def register_builtins() -> None:
    """Register every built-in dataset (run once by :data:`neurosage.data_adapters.registry.DATASETS`)."""
    register_neural(
        "MajajHong2015",
        f"{_ADAPTERS}.majajhong2015:load_majajhong2015",
        description="Macaque V4/IT (pIT, cIT, aIT) responses to HvM images, 70-170 ms (Brain-Score netCDF)",
        needs=("path to assy_dicarlo_MajajHong2015_public.nc (or $NEUROSAGE_MAJAJHONG2015 / BrainIO cache)", "stimulus_hvm-public.csv"),
        citation="Majaj, Hong, Solomon, DiCarlo 2015, J Neurosci 35(39):13402",
    )
    register_neural(
        "HvM-hdf5",
        f"{_ADAPTERS}.hvm_hdf5:load_hvm_hdf5",
        description="HvM V4/IT sites (ventral_neural_data.hdf5, time-averaged trials)",
        needs=("path to ventral_neural_data.hdf5 (or $NEUROSAGE_HVM_HDF5)",),
        citation="Yamins et al. 2014 PNAS; Majaj, Hong et al. 2015", stimuli=f"{_ADAPTERS}.hvm_hdf5:load_hvm_images",
    )
    register_neural(
        "assembly-file", f"{_ADAPTERS}.generic:load_assembly_file",
        description="Any convention-following netCDF/HDF5 assembly", needs=("path",),
    )
    register_neural(
        "npy-csv", f"{_ADAPTERS}.generic:load_npy_csv",
        description="responses.npy + stimuli.csv + neuroids.csv", needs=("responses", "stimuli", "neuroids"),
    )
    register_images(
        "fashion-mnist", f"{_ADAPTERS}.images:load_fashion_mnist",
        description="Fashion-MNIST 28x28 grey, 10 classes (idx files)",
        needs=("root (default /usr/share/datasets/fashion-mnist)",),
        citation="Xiao, Rasul, Vollgraf 2017, arXiv:1708.07747", splits=("train", "test"),
    )
    register_images(
        "cifar100", f"{_ADAPTERS}.images:load_cifar100",
        description="CIFAR-100 32x32 (python pickles)", needs=("root: cifar-100-python folder",),
        citation="Krizhevsky 2009", splits=("train", "test"),
    )
    register_images(
        "imagenet64", f"{_ADAPTERS}.images:load_imagenet64",
        description="Downsampled ImageNet 64x64 (pickle/npz batches)", needs=("root: folder with train_data_batch_* / val_data",),
        citation="Chrabaszcz, Loshchilov, Hutter 2017, arXiv:1707.08819", splits=("train", "val"),
    )
    register_images(
        "image-folder", f"{_ADAPTERS}.images:image_folder_dataset",
        description="Any folder of class sub-folders", needs=("root",), splits=("train",),
    )
    register_images(
        "stimuli", f"{_ADAPTERS}.images:stimuli_dataset",
        description="Stimulus images of a neural dataset (CSV + folder/zip)", needs=("stimulus_csv", "images"), splits=("all",),
    )
