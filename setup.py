"""dcign_tf: Deep Convolutional Inverse Graphics Network in TensorFlow/Keras."""

import setuptools

# A set that works together (see ../shared/DESIGN.md's traps): TFP 0.25 needs
# tf-keras beside Keras 3, and tf-keras 2.21 needs the full tensorflow package.
INSTALL_REQUIRES = [
    "tensorflow>=2.21.0,<2.22",
    "keras>=3.15.0,<4",
    "tensorflow-probability==0.25.*",
    "tf-keras>=2.21.0,<2.22",
    "tensorboard>=2.21.0,<2.22",
    "tensorflow-datasets==4.9.*",
    # tensorflow-datasets imports it but does not declare it.
    "importlib_resources>=6.0",
    "absl-py>=2.1,<3",
    "numpy>=1.26,<3",
    "scipy>=1.11,<2",
    "pillow>=10.0,<14",
    "matplotlib>=3.8,<4",
    "tqdm>=4.66,<5",
    # TFDS's shapes3d and dsprites builders read the original HDF5 files.
    "h5py>=3.10,<4",
    # The disentanglement metrics' classifiers (disentanglement_lib's).
    "scikit-learn>=1.9,<1.10",
    # TF Serving's request protos (warm-up records, the gRPC client).
    "tensorflow-serving-api>=2.21.0,<2.22",
    # The TFLite runtime that checks every conversion (export.tflite).
    "ai-edge-litert==2.3.*",
]

# The interactive explorer (export.explore) and the client its test drives
# it with.
DEMO_REQUIRES = [
    "gradio>=6.31,<7",
    "gradio_client>=2.7,<3",
]

TEST_REQUIRES = [
    "pytest>=8,<10",
    "pytest-xdist>=3.5,<4",
] + DEMO_REQUIRES

setuptools.setup(
    name="dcign_tf",
    version="0.1.0",
    description=("Deep Convolutional Inverse Graphics Network (Kulkarni et "
                 "al., NIPS 2015) in TensorFlow/Keras, with a built-in 3D "
                 "face renderer."),
    packages=setuptools.find_packages(include=["dcign_tf", "dcign_tf.*",
                                               "trainers", "export"]),
    # The trained presets ship inside the package (wheel and sdist).
    package_data={"dcign_tf": ["presets/*/*"]},
    python_requires=">=3.10",
    install_requires=INSTALL_REQUIRES,
    extras_require={"demo": DEMO_REQUIRES, "test": TEST_REQUIRES},
)
