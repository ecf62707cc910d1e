"""The core layer: images in and out, the device, VGG19's weights and features, the losses,
fixed measures of a finished image, and argument validation. Depends on nothing else in the
package."""
