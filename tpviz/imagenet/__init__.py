"""imagenet"""
