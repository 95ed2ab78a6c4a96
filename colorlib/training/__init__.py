"""What trains a network: Keras callbacks with resume after a crash (fitting), tf.distribute
strategies (distribute) and the adversarial trainer of ``loss: gan`` (gan).
"""
