from django.urls import path
from sample import views

urlpatterns = [
    path("", views.index),
    path("secret-check", views.secret_check),
    path("slow", views.slow),
    path("echo", views.echo),
    path("env", views.env),
    path("notes", views.notes),
]
